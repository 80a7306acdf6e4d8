//! `xwal verify DIR`: reads and checks every record of every segment (CRC,
//! salt, LSN continuity, bodies), each segment on its own so that one bad
//! segment does not hide another. Read-only, no lock. Exits non-zero if
//! anything is corrupt, after printing each bad location.

use super::common::{self, CliResult};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::path::{Path, PathBuf};
use std::time::Instant;
use xwal::{Error, ReplayOptions, ReplayRange, Wal};

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The WAL directory (default: `dir` of the --config file).
    dir: Option<PathBuf>,
    /// No progress bar (it is drawn on stderr, and only when stderr is a terminal).
    #[arg(long)]
    no_progress: bool,
}

/// The file name of a segment as it is on disk (checkpoint or not).
fn file_name(dir: &Path, segment: u64) -> String {
    let cp = xwal::format::segment_path(dir, segment, true).exists();
    xwal::format::segment_file_name(segment, cp)
}

/// First LSN in a segment's header, for a location found by `open`.
fn header_first_lsn(dir: &Path, segment: u64) -> Option<u64> {
    [false, true].iter().find_map(|cp| {
        let block =
            xwal::internals::dir::read_header_block(&xwal::format::segment_path(dir, segment, *cp))
                .ok()?;
        match xwal::format::SegmentHeader::decode(&block) {
            xwal::format::HeaderDecode::Valid(h) => Some(h.first_lsn),
            _ => None,
        }
    })
}

pub fn run(a: VerifyArgs, config_file: Option<&Path>) -> CliResult {
    let started = Instant::now();
    let dir = common::wal_dir(a.dir.as_deref(), config_file)?;
    common::require_dir(&dir)?;
    let cfg = common::load_config(&dir, config_file)?;
    let (wal, report) = Wal::open_read_only(cfg).map_err(|e| e.to_string())?;
    let mut findings = 0usize;
    // Damage that stops a read-write open: the view reads up to it, and each
    // segment before it is checked below.
    let short = |d: &xwal::Damage| {
        report
            .short_file
            .as_ref()
            .is_some_and(|f| (f.segment, f.file_len) == (d.segment, d.offset))
    };
    // A file cut short is reported as such below.
    if let Some(d) = report.damage.as_ref().filter(|d| !short(d)) {
        findings += 1;
        let lsns = header_first_lsn(&dir, d.segment.0)
            .map_or(String::new(), |f| format!("; segment starts at LSN {f}"));
        println!(
            "CORRUPT segment {} ({}) offset {}: {}{lsns}; intact through LSN {}",
            d.segment,
            file_name(&dir, d.segment.0),
            d.offset,
            d.reason,
            d.last_intact_lsn
        );
    }
    let is_damage = |segment: xwal::SegmentId, offset: u64| {
        report
            .damage
            .as_ref()
            .is_some_and(|d| (d.segment, d.offset) == (segment, offset))
    };
    let segs = wal.segments();
    let last_lsn = report.last_lsn.0;
    let first_lsn = segs.first().map_or(1, |s| s.first_lsn.0);
    let total = (last_lsn + 1).saturating_sub(first_lsn);
    let pb = if a.no_progress {
        ProgressBar::hidden()
    } else {
        ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
    };
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} verifying {bar:40} {pos}/{len} LSNs, {msg} ({eta})")
    {
        pb.set_style(style);
    }
    let mut entries = 0u64;
    let mut bytes = 0u64;
    for (i, s) in segs.iter().enumerate() {
        let seg_last = segs
            .get(i + 1)
            .map_or(last_lsn, |n| n.first_lsn.0.saturating_sub(1));
        pb.set_message(format!("segment {}", s.segment));
        let opts = ReplayOptions::all().range(ReplayRange::Segments {
            start: s.segment,
            end: s.segment,
        });
        let mut good_through: Option<u64> = None;
        let result = wal.replay(opts).and_then(|replay| {
            for e in replay.receiver().iter() {
                entries += 1;
                bytes += e.data.len() as u64;
                good_through = Some(e.lsn.0);
                pb.set_position(e.lsn.0 + 1 - first_lsn);
            }
            replay.finish()
        });
        pb.set_position((seg_last + 1).saturating_sub(first_lsn));
        let range = if seg_last < s.first_lsn {
            "segment holds no LSNs".to_string()
        } else {
            format!("segment holds LSNs {}..{}", s.first_lsn, seg_last)
        };
        let through = good_through.map_or("no entry read".to_string(), |l| {
            format!("entries good through LSN {l}")
        });
        let file = xwal::format::segment_file_name(s.segment.0, s.checkpoint);
        match result {
            Ok(_) => {}
            // Reported above.
            Err(Error::Corruption {
                segment, offset, ..
            }) if is_damage(segment, offset) => {}
            Err(Error::Corruption {
                segment,
                offset,
                reason,
            }) => {
                findings += 1;
                pb.suspend(|| {
                    println!(
                        "CORRUPT segment {segment} ({file}) offset {offset}: {reason}; {range}, {through}"
                    )
                });
            }
            Err(e) => {
                findings += 1;
                pb.suspend(|| println!("ERROR segment {} ({file}): {e}; {range}", s.segment));
            }
        }
    }
    pb.finish_and_clear();
    if let Some(t) = &report.truncation {
        println!(
            "note: torn tail in segment {} from offset {} ({}): never acknowledged, the next read-write open cuts it",
            t.segment, t.offset, t.reason
        );
    }
    for p in &report.removed_files {
        println!(
            "note: leftover {} (the next read-write open removes or sets it aside)",
            p.display()
        );
    }
    if let Some(f) = report.short_file.as_ref().filter(|f| !f.clean) {
        findings += 1;
        println!(
            "SHORT segment {} offset {}: the file is {} bytes of its {}-byte capacity, cut inside its data (complete records end at offset {}); later entries may be lost",
            f.segment, f.file_len, f.file_len, f.capacity, f.data_end
        );
    }
    if findings > 0 {
        return Err(format!(
            "verify: {findings} corrupt location(s) in {}",
            dir.display()
        ));
    }
    let lsns = if last_lsn >= first_lsn && !segs.is_empty() {
        format!("LSN {first_lsn}..{last_lsn}")
    } else {
        "no LSNs".to_string()
    };
    println!(
        "ok: {} segment(s), {lsns}, {entries} entries ({}) verified in {:.2} s",
        segs.len(),
        common::human_bytes(bytes),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
