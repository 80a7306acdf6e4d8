//! Helpers shared by the subcommands: configs, replay ranges, output.

use clap::Args;
use std::io::Write;
use std::path::{Path, PathBuf};
use xwal::format::{HeaderDecode, SegmentHeader};
use xwal::{CheckpointId, Config, IoEngine, Lsn, ReplayOptions, ReplayRange, SegmentId};

/// Result of a subcommand: the error is printed as one line `xwal: <message>`.
pub type CliResult<T = ()> = Result<T, String>;

/// The WAL directory: DIR if given, else `dir` of the config file.
pub fn wal_dir(dir: Option<&Path>, config_file: Option<&Path>) -> CliResult<PathBuf> {
    if let Some(d) = dir {
        return Ok(d.to_path_buf());
    }
    if let Some(f) = config_file {
        let c = Config::from_file(f).map_err(|e| e.to_string())?;
        if !c.dir.as_os_str().is_empty() {
            return Ok(c.dir);
        }
    }
    Err("give the WAL directory (DIR), or set dir in the --config file".into())
}

/// Fails unless `dir` is an existing directory.
pub fn require_dir(dir: &Path) -> CliResult {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(format!("{} is not a directory", dir.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(format!("{}: no such directory", dir.display()))
        }
        Err(e) => Err(format!("{}: {e}", dir.display())),
    }
}

/// The segment size and max entry size of the newest segment with a valid header.
fn sizes_on_disk(dir: &Path) -> Option<(u64, u64)> {
    let (listed, _) = xwal::internals::dir::list(dir).ok()?;
    listed.iter().rev().find_map(|s| {
        let path = xwal::format::segment_path(dir, s.segment, s.checkpoint);
        let block = xwal::internals::dir::read_header_block(&path).ok()?;
        match SegmentHeader::decode(&block) {
            HeaderDecode::Valid(h) => Some((h.capacity, u64::from(h.max_entry_size))),
            _ => None,
        }
    })
}

/// The config for a WAL directory. With `--config FILE`: that file, with
/// `dir` set to the directory. Without: the defaults, with the io_uring-or-sync
/// engine (`auto`), and the segment and entry sizes of the segments on disk,
/// so that opening changes nothing about the WAL's shape.
pub fn load_config(dir: &Path, config_file: Option<&Path>) -> CliResult<Config> {
    let cfg = match config_file {
        Some(f) => {
            let mut c = Config::from_file(f).map_err(|e| e.to_string())?;
            c.dir = dir.to_path_buf();
            c
        }
        None => {
            let mut c = Config::new(dir).io_engine(IoEngine::Auto);
            if let Some((segment_size, max_entry_size)) = sizes_on_disk(dir) {
                let probe = c
                    .clone()
                    .segment_size(segment_size)
                    .max_entry_size(max_entry_size);
                if probe.validate().is_ok() {
                    c = probe;
                }
            }
            c
        }
    };
    cfg.validate().map_err(|e| e.to_string())?;
    Ok(cfg)
}

/// An inclusive segment range; a missing end is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegRange(pub Option<u64>, pub Option<u64>);

/// Parses `A..B`, `A..=B`, `A..`, `..B` or `A` (inclusive segment numbers).
pub fn parse_segment_range(s: &str) -> Result<SegRange, String> {
    let num = |t: &str| -> Result<Option<u64>, String> {
        let t = t.trim();
        if t.is_empty() {
            Ok(None)
        } else {
            t.parse()
                .map(Some)
                .map_err(|_| format!("`{t}` is not a segment number"))
        }
    };
    match s.split_once("..") {
        Some((a, b)) => Ok(SegRange(num(a)?, num(b.strip_prefix('=').unwrap_or(b))?)),
        None => {
            let n = num(s)?;
            if n.is_none() {
                return Err("empty segment range; write A..B".into());
            }
            Ok(SegRange(n, n))
        }
    }
}

/// Which part of the log to read, and in which order.
#[derive(Args, Debug, Clone, Default)]
pub struct RangeArgs {
    /// First LSN to include.
    #[arg(long, value_name = "LSN")]
    pub from_lsn: Option<u64>,
    /// Last LSN to include.
    #[arg(long, value_name = "LSN")]
    pub to_lsn: Option<u64>,
    /// Segments A..B, inclusive (`A..`, `..B` and a single `A` work too).
    #[arg(long, value_name = "A..B", value_parser = parse_segment_range,
          conflicts_with_all = ["start_segment", "end_segment"])]
    pub segments: Option<SegRange>,
    /// First segment (same as --segments A..).
    #[arg(long, value_name = "N")]
    pub start_segment: Option<u64>,
    /// Last segment, inclusive (same as --segments ..B).
    #[arg(long, value_name = "N")]
    pub end_segment: Option<u64>,
    /// From checkpoint segment N to the end.
    #[arg(long, value_name = "N")]
    pub from_checkpoint: Option<u64>,
    /// From the beginning to checkpoint segment N.
    #[arg(long, value_name = "N")]
    pub to_checkpoint: Option<u64>,
    /// Newest entry first.
    #[arg(long)]
    pub backwards: bool,
}

impl RangeArgs {
    /// The replay options these arguments select.
    pub fn options(&self) -> CliResult<ReplayOptions> {
        let lsn = self.from_lsn.is_some() || self.to_lsn.is_some();
        let (seg_lo, seg_hi) = match self.segments {
            Some(SegRange(a, b)) => (a, b),
            None => (self.start_segment, self.end_segment),
        };
        let seg = seg_lo.is_some() || seg_hi.is_some();
        let chosen = [
            lsn,
            seg,
            self.from_checkpoint.is_some(),
            self.to_checkpoint.is_some(),
        ];
        if chosen.iter().filter(|c| **c).count() > 1 {
            return Err("choose one kind of range: LSNs (--from-lsn/--to-lsn), segments (--segments or --start-segment/--end-segment), --from-checkpoint or --to-checkpoint".into());
        }
        let range = if lsn {
            let from = self.from_lsn.unwrap_or(1);
            let to = self.to_lsn.unwrap_or(u64::MAX);
            if to < from {
                return Err(format!(
                    "--to-lsn {to} is below --from-lsn {from}: the range is empty"
                ));
            }
            ReplayRange::Lsns {
                from: Lsn(from),
                to: Lsn(to),
            }
        } else if seg {
            let start = seg_lo.unwrap_or(0);
            let end = seg_hi.unwrap_or(u64::MAX);
            if end < start {
                return Err(format!(
                    "segment range {start}..{end} is empty: the end must be >= the start"
                ));
            }
            ReplayRange::Segments {
                start: SegmentId(start),
                end: SegmentId(end),
            }
        } else if let Some(cp) = self.from_checkpoint {
            ReplayRange::FromCheckpoint(CheckpointId(cp))
        } else if let Some(cp) = self.to_checkpoint {
            ReplayRange::ToCheckpoint(CheckpointId(cp))
        } else {
            ReplayRange::All
        };
        let opts = ReplayOptions::all().range(range);
        Ok(if self.backwards {
            opts.backward()
        } else {
            opts
        })
    }
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Maps a write error to a message, and a closed pipe (`| head`) to `Ok(false)`: stop quietly.
pub fn out_ok(r: std::io::Result<()>) -> CliResult<bool> {
    match r {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(format!("writing to stdout: {e}")),
    }
}

/// Buffered, locked stdout.
pub fn stdout() -> std::io::BufWriter<std::io::StdoutLock<'static>> {
    std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock())
}

/// Flushes, treating a closed pipe as success.
pub fn finish_output(mut out: impl Write) -> CliResult {
    out_ok(out.flush()).map(|_| ())
}

/// Human-readable bytes: 1536 -> "1.5 KiB".
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_ranges() {
        assert_eq!(parse_segment_range("2..5"), Ok(SegRange(Some(2), Some(5))));
        assert_eq!(parse_segment_range("2..=5"), Ok(SegRange(Some(2), Some(5))));
        assert_eq!(parse_segment_range("3.."), Ok(SegRange(Some(3), None)));
        assert_eq!(parse_segment_range("..4"), Ok(SegRange(None, Some(4))));
        assert_eq!(parse_segment_range("7"), Ok(SegRange(Some(7), Some(7))));
        assert!(parse_segment_range("a..b").is_err());
        assert!(parse_segment_range("").is_err());
    }

    #[test]
    fn hex_and_sizes() {
        assert_eq!(hex(b"\x00\xffA"), "00ff41");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(12), "12 B");
    }
}
