//! `xwal import-go GO_DIR DEST`: reads a Go xwal directory and writes its
//! entries into a new xwal WAL, keeping LSNs and checkpoint numbers.
//!
//! Every Go file is read and checked first (CRC, framing, LSN order) and
//! nothing is written unless all of it is good: bad records are listed with
//! file and byte offset and the import is refused with a non-zero exit.
//! `*.garbage` files (consumed by Go) are skipped and named.

use super::common::{self, CliResult};
use clap::Args;
use std::path::{Path, PathBuf};
use xwal::import_go::{self, ImportOptions};
use xwal::{Config, IoEngine};

#[derive(Args, Debug)]
pub struct ImportGoArgs {
    /// The Go xwal directory (only read).
    go_dir: PathBuf,
    /// The new xwal WAL directory; must be missing or empty. --config applies to it.
    dest: PathBuf,
    /// Accept xwal checkpoint numbers that differ from Go's when Go's cannot be
    /// kept (Go files not numbered 0, 1, 2, ... or a non-checkpoint file before
    /// the last); the mapping is printed.
    #[arg(long)]
    renumber: bool,
    /// Leave out a torn tail of the last Go file (a truncated record or zero
    /// fill, what a crash during a Go write leaves) instead of refusing.
    #[arg(long)]
    drop_torn_tail: bool,
}

fn names(files: &[PathBuf]) -> String {
    files
        .iter()
        .map(|p| {
            p.file_name().map_or_else(
                || p.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn run(a: ImportGoArgs, config_file: Option<&Path>) -> CliResult {
    common::require_dir(&a.go_dir)?;
    let opts = ImportOptions {
        renumber: a.renumber,
        drop_torn_tail: a.drop_torn_tail,
    };
    let cfg = match config_file {
        Some(f) => {
            let mut c = Config::from_file(f).map_err(|e| e.to_string())?;
            c.dir = a.dest.clone();
            c
        }
        None => Config::new(&a.dest).io_engine(IoEngine::Auto),
    };
    if std::fs::read_dir(&a.dest).is_ok_and(|mut d| d.next().is_some()) {
        return Err(format!(
            "{} is not empty: import into a new or empty directory",
            a.dest.display()
        ));
    }
    let plan = import_go::plan(&a.go_dir, opts).map_err(|e| e.to_string())?;
    if plan.files.is_empty() {
        return Err(format!(
            "no Go xwal segment files (wal_<n>, wal_<n>.checkpoint) in {}; nothing was written",
            a.go_dir.display()
        ));
    }
    let files: Vec<PathBuf> = plan.files.iter().map(|f| f.file.path.clone()).collect();
    let first = plan.files.iter().find_map(|f| f.lsns.map(|l| l.0));
    let lsns = match first {
        Some(f) => format!("LSN {f}..{}", plan.last_lsn()),
        None => "no LSNs".into(),
    };
    println!(
        "read {}: {} file(s) ({}), {} entries, {lsns}, {} bad record(s)",
        a.go_dir.display(),
        files.len(),
        names(&files),
        plan.entries,
        plan.bad.len()
    );
    if !plan.garbage.is_empty() {
        println!("skipped (consumed by Go): {}", names(&plan.garbage));
    }
    if !plan.other.is_empty() {
        println!("skipped (not Go segments): {}", names(&plan.other));
    }
    if !plan.bad.is_empty() {
        for b in &plan.bad {
            eprintln!("xwal: bad record: {b}");
        }
        let last_file = plan.files.last().map(|f| f.file.path.clone());
        let torn_last = plan.bad.last().is_some_and(|b| {
            b.record.problem.is_torn_tail() && Some(&b.path) == last_file.as_ref()
        });
        let hint = if torn_last && !a.drop_torn_tail {
            "; the last one is a torn tail of the last file, which --drop-torn-tail leaves out"
        } else {
            ""
        };
        return Err(format!(
            "import refused: {} bad record(s) in {}; nothing was written to {}{hint}",
            plan.bad.len(),
            a.go_dir.display(),
            a.dest.display()
        ));
    }
    if let (Err(why), false) = (&plan.numbering, a.renumber) {
        return Err(format!(
            "import refused: Go checkpoint numbers cannot be kept: {why}; nothing was written; rerun with --renumber to accept new numbers"
        ));
    }
    if let Some(t) = &plan.dropped_tail {
        println!("left out a torn tail: {t}");
    }
    if plan.skipped_lsns > 0 {
        println!(
            "{} LSN(s) missing in the Go log become xwal skip records (inc_last_index), so LSNs stay the same",
            plan.skipped_lsns
        );
    }
    let report = import_go::import(&plan, cfg, opts).map_err(|e| {
        format!(
            "import into {} failed: {e}; remove {} before retrying",
            a.dest.display(),
            a.dest.display()
        )
    })?;
    let cps = if report.checkpoints.is_empty() {
        "none".to_string()
    } else {
        report
            .checkpoints
            .iter()
            .map(|(g, x)| {
                if g == x {
                    format!("{x}")
                } else {
                    format!("{x} (Go {g})")
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "imported {} entries ({}) into {}: last LSN {}, checkpoints {cps}, segment size {}, max entry size {}",
        report.entries,
        common::human_bytes(report.bytes),
        a.dest.display(),
        report.last_lsn,
        common::human_bytes(report.segment_size),
        common::human_bytes(report.max_entry_size)
    );
    Ok(())
}
