//! `xwal inspect DIR`: segments, LSN ranges, checkpoints, sizes and the
//! recovery state, as a table or JSON. Read-only: takes no lock, changes nothing.
//! With an `[s3]` table in the `--config` file (and the `s3` feature), also the
//! archive state: the manifest is read from S3 and each segment says where it is.

use super::common::{self, CliResult};
use clap::Args;
use serde_json::json;
use std::path::{Path, PathBuf};
use xwal::{ReadOnlyWal, RecoveryReport, SegmentInfo, Wal};

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// The WAL directory (default: `dir` of the --config file).
    dir: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

struct Row {
    info: SegmentInfo,
    last_lsn: xwal::Lsn,
    file_size: Option<u64>,
}

/// Size of a segment file; a concurrent checkpoint may have renamed it.
fn file_size(dir: &Path, s: &SegmentInfo) -> Option<u64> {
    [s.checkpoint, !s.checkpoint].iter().find_map(|cp| {
        std::fs::metadata(xwal::format::segment_path(dir, s.segment.0, *cp))
            .ok()
            .map(|m| m.len())
    })
}

fn rows(wal: &ReadOnlyWal, report: &RecoveryReport) -> Vec<Row> {
    let segs = wal.segments();
    segs.iter()
        .enumerate()
        .map(|(i, s)| Row {
            info: *s,
            last_lsn: segs
                .get(i + 1)
                .map(|n| n.first_lsn.saturating_sub(1))
                .unwrap_or(report.last_lsn),
            file_size: file_size(wal.dir(), s),
        })
        .collect()
}

/// Everything one inspection shows.
struct Listing<'a> {
    dir: &'a Path,
    wal: &'a ReadOnlyWal,
    rows: Vec<Row>,
    report: &'a RecoveryReport,
    archive: ArchiveState,
}

/// The archive state: `None` when no S3 is configured.
#[cfg(feature = "s3")]
type ArchiveState = Option<Result<xwal::archive::ArchiveStatus, String>>;
#[cfg(not(feature = "s3"))]
type ArchiveState = Option<Result<NoArchive, String>>;

/// Stands in for the archive status in a build without S3.
#[cfg(not(feature = "s3"))]
enum NoArchive {}

#[cfg(feature = "s3")]
fn archive_state(wal: &ReadOnlyWal) -> ArchiveState {
    wal.load_archive_status()
        .map(|r| r.map_err(|e| e.to_string()))
}

#[cfg(not(feature = "s3"))]
fn archive_state(_wal: &ReadOnlyWal) -> ArchiveState {
    None
}

/// Where a segment is: "local", "local+s3", "s3" (archived, deleted
/// locally), or "gone" (deleted while we looked).
fn location(row: &Row, archive: &ArchiveState) -> &'static str {
    #[cfg(feature = "s3")]
    if let Some(Ok(st)) = archive {
        return match (row.file_size.is_some(), st.is_archived(row.info.segment)) {
            (true, true) => "local+s3",
            (true, false) => "local",
            (false, true) => "s3",
            (false, false) => "gone",
        };
    }
    let _ = archive;
    if row.file_size.is_some() {
        "local"
    } else {
        "gone"
    }
}

pub fn run(a: InspectArgs, config_file: Option<&Path>) -> CliResult {
    let dir = common::wal_dir(a.dir.as_deref(), config_file)?;
    common::require_dir(&dir)?;
    let cfg = common::load_config(&dir, config_file)?;
    let (wal, report) = Wal::open_read_only(cfg).map_err(|e| e.to_string())?;
    // The manifest first: segments that only S3 still holds are listed from it.
    let archive = archive_state(&wal);
    let rows = rows(&wal, &report);
    let listing = Listing {
        dir: &dir,
        wal: &wal,
        rows,
        report: &report,
        archive,
    };
    let text = if a.json {
        json_text(&listing)
    } else {
        table_text(&listing)
    };
    let archive = listing.archive;
    let mut out = common::stdout();
    if common::out_ok(std::io::Write::write_all(&mut out, text.as_bytes()))? {
        common::finish_output(out)?;
    }
    if let Some(d) = &report.damage {
        return Err(format!(
            "{} is damaged at segment {} offset {} ({}): it opens read-only up to LSN {}; `xwal repair` continues it",
            dir.display(),
            d.segment,
            d.offset,
            d.reason,
            d.last_intact_lsn
        ));
    }
    match archive {
        Some(Err(e)) => Err(format!("the S3 archive could not be read: {e}")),
        _ => Ok(()),
    }
}

#[cfg(feature = "s3")]
fn archive_json(archive: &ArchiveState) -> serde_json::Value {
    match archive {
        None => serde_json::Value::Null,
        Some(Err(e)) => json!({ "error": e }),
        Some(Ok(st)) => json!({
            "location": st.location,
            "uploaded_segments": st.uploaded_segments,
            "uploaded_bytes": st.uploaded_bytes,
            "last_archived": st.last_archived.map(|s| s.0),
            "archived_runs": st.archived_runs.iter().map(|(lo, hi)| (lo.0, hi.0)).collect::<Vec<_>>(),
            "pending": st.pending,
            "backlog_full": st.backlog_full,
        }),
    }
}

#[cfg(not(feature = "s3"))]
fn archive_json(_archive: &ArchiveState) -> serde_json::Value {
    serde_json::Value::Null
}

#[cfg(feature = "s3")]
fn archive_lines(s: &mut String, archive: &ArchiveState) {
    use std::fmt::Write;
    match archive {
        None => {}
        Some(Err(e)) => {
            let _ = writeln!(s, "archive:      unreadable: {e}");
        }
        Some(Ok(st)) => {
            let runs = st
                .archived_runs
                .iter()
                .map(|(lo, hi)| {
                    if lo == hi {
                        lo.to_string()
                    } else {
                        format!("{lo}-{hi}")
                    }
                })
                .collect::<Vec<_>>()
                .join(", ");
            let _ = writeln!(
                s,
                "archive:      {}: {} segment(s), {} uploaded{}; {} sealed segment(s) waiting{}",
                st.location,
                st.uploaded_segments,
                common::human_bytes(st.uploaded_bytes),
                if runs.is_empty() {
                    String::new()
                } else {
                    format!(" (segments {runs})")
                },
                st.pending,
                if st.backlog_full {
                    ", backlog full"
                } else {
                    ""
                }
            );
        }
    }
}

#[cfg(not(feature = "s3"))]
fn archive_lines(_s: &mut String, _archive: &ArchiveState) {}

fn json_text(l: &Listing) -> String {
    let Listing {
        dir,
        wal,
        rows,
        report: r,
        archive,
    } = l;
    let segments: Vec<_> = rows
        .iter()
        .map(|row| {
            let empty = row.last_lsn < row.info.first_lsn;
            json!({
                "segment": row.info.segment.0,
                "file": xwal::format::segment_file_name(row.info.segment.0, row.info.checkpoint),
                "first_lsn": row.info.first_lsn.0,
                "last_lsn": if empty { None } else { Some(row.last_lsn.0) },
                "lsns": if empty { 0 } else { row.last_lsn - row.info.first_lsn + 1 },
                "checkpoint": row.info.checkpoint,
                "file_size": row.file_size,
                "capacity": row.info.capacity,
                "max_entry_size": row.info.max_entry_size,
                "location": location(row, archive),
            })
        })
        .collect();
    let truncation = r.truncation.as_ref().map(|t| {
        json!({
            "segment": t.segment.0,
            "offset": t.offset,
            "first_bad_offset": t.first_bad_offset,
            "reason": t.reason,
            "dropped_records": t.dropped_records,
            "zeroed_bytes": t.zeroed_bytes,
        })
    });
    let v = json!({
        "dir": dir.display().to_string(),
        "backend": wal.backend_type().as_str(),
        "last_lsn": r.last_lsn.0,
        "checkpoints": wal.checkpoints().iter().map(|c| c.0).collect::<Vec<_>>(),
        "segments": segments,
        "recovery": {
            "segments": r.segments,
            "tail_segment": r.tail_segment.map(|s| s.0),
            "last_lsn": r.last_lsn.0,
            "scanned_bytes": r.scanned_bytes,
            "torn_tail": truncation,
            "short_file": r.short_file.as_ref().map(|f| json!({
                "segment": f.segment.0,
                "file_len": f.file_len,
                "capacity": f.capacity,
                "data_end": f.data_end,
                "clean": f.clean,
            })),
            "files_to_set_aside": r.removed_files.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "elapsed_ms": r.elapsed.as_secs_f64() * 1000.0,
        },
        "archive": archive_json(archive),
    });
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    s
}

fn table_text(l: &Listing) -> String {
    let Listing {
        dir,
        wal,
        rows,
        report: r,
        archive,
    } = l;
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "WAL {} ({}; read-only view, no lock taken)",
        dir.display(),
        wal.backend_type()
    );
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "{:>8}  {:>12}  {:>12}  {:>10}  {:>12}  {:>12}  {:>8}",
        "segment", "first LSN", "last LSN", "checkpoint", "file size", "capacity", "where"
    );
    for row in rows {
        let last = if row.last_lsn < row.info.first_lsn {
            "(empty)".to_string()
        } else {
            row.last_lsn.to_string()
        };
        let size = row.file_size.map_or("?".to_string(), |n| n.to_string());
        let _ = writeln!(
            s,
            "{:>8}  {:>12}  {:>12}  {:>10}  {:>12}  {:>12}  {:>8}",
            row.info.segment,
            row.info.first_lsn,
            last,
            if row.info.checkpoint { "yes" } else { "no" },
            size,
            row.info.capacity,
            location(row, archive)
        );
    }
    if rows.is_empty() {
        let _ = writeln!(s, "{:>8}", "(none)");
    }
    let total: u64 = rows.iter().filter_map(|r| r.file_size).sum();
    let _ = writeln!(s);
    let _ = writeln!(s, "last LSN:     {}", r.last_lsn);
    let cps = wal.checkpoints();
    let _ = writeln!(
        s,
        "checkpoints:  {}",
        if cps.is_empty() {
            "none".to_string()
        } else {
            cps.iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    let _ = writeln!(
        s,
        "segments:     {} ({} in their files)",
        rows.len(),
        common::human_bytes(total)
    );
    let tail = r
        .tail_segment
        .map_or("none".to_string(), |t| format!("segment {t}"));
    let _ = writeln!(
        s,
        "recovery:     tail {tail}, {} bytes scanned in {:.1} ms",
        r.scanned_bytes,
        r.elapsed.as_secs_f64() * 1000.0
    );
    archive_lines(&mut s, archive);
    match &r.truncation {
        None => {
            let _ = writeln!(s, "torn tail:    none");
        }
        Some(t) => {
            let _ = writeln!(
                s,
                "torn tail:    segment {} from offset {} ({}; first bad byte at {}, {} records in an incomplete group); the next read-write open cuts it",
                t.segment, t.offset, t.reason, t.first_bad_offset, t.dropped_records
            );
        }
    }
    match &r.short_file {
        None => {}
        Some(f) if f.clean => {
            let _ = writeln!(
                s,
                "short file:   segment {} is {} bytes of its {}-byte capacity and ends cleanly after its last record (a restored or shrunk sealed segment)",
                f.segment, f.file_len, f.capacity
            );
        }
        Some(f) => {
            let _ = writeln!(
                s,
                "short file:   segment {} is {} bytes of its {}-byte capacity, cut inside its data (complete records end at offset {}); entries may be lost, a read-write open refuses it",
                f.segment, f.file_len, f.capacity, f.data_end
            );
        }
    }
    for p in &r.removed_files {
        let _ = writeln!(
            s,
            "leftover:     {} (the next read-write open removes or sets it aside)",
            p.display()
        );
    }
    if let Some(d) = &r.damage {
        let _ = writeln!(
            s,
            "damage:       segment {} offset {}: {}; intact through LSN {}, a read-write open refuses it (`xwal repair` continues the log)",
            d.segment, d.offset, d.reason, d.last_intact_lsn
        );
    }
    s
}
