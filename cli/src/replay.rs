//! `xwal replay DIR`: entries as JSON lines on stdout, for scripts:
//! `{"lsn":N,"data_hex":"..."}`, one per line, in LSN order (or reversed).
//! Payloads are lowercase hex: no extra dependency, byte-exact, greppable, and
//! the same encoding as `dump --format json`. Read-only and lock-free unless
//! `--consume` is given.

use super::common::{self, CliResult, RangeArgs};
use clap::Args;
use std::io::Write;
use std::path::{Path, PathBuf};
use xwal::{ReadableWal, Wal};

#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// The WAL directory (default: `dir` of the --config file).
    dir: Option<PathBuf>,
    #[command(flatten)]
    range: RangeArgs,
    /// Go xwal's at-most-once replay: after the whole replay succeeded and was
    /// written out, delete the replayed sealed segments. Opens the WAL for
    /// writing (takes the lock). The range must start at the first segment.
    #[arg(long)]
    consume: bool,
    /// Keep going like `tail -f`: after the entries from --from-lsn (default:
    /// the first), print each new one once the log proves it durable, until
    /// SIGINT or SIGTERM. Read-only and lock-free: the writer runs beside it.
    #[arg(long, conflicts_with_all = ["to_lsn", "segments", "start_segment", "end_segment", "from_checkpoint", "to_checkpoint", "backwards", "consume"])]
    follow: bool,
}

pub fn run(a: ReplayArgs, config_file: Option<&Path>) -> CliResult {
    let dir = common::wal_dir(a.dir.as_deref(), config_file)?;
    common::require_dir(&dir)?;
    let opts = a.range.options()?.consume(a.consume);
    let cfg = common::load_config(&dir, config_file)?;
    if a.follow {
        return crate::follow::follow(cfg, a.range.from_lsn.unwrap_or(1), |out, lsn, data| {
            writeln!(
                out,
                "{{\"lsn\":{lsn},\"data_hex\":\"{}\"}}",
                common::hex(data)
            )
        });
    }
    // A consuming replay deletes what it read: it needs the writer.
    let wal: Box<dyn ReadableWal> = if a.consume {
        Box::new(Wal::open(cfg).map_err(|e| e.to_string())?.0)
    } else {
        Box::new(Wal::open_read_only(cfg).map_err(|e| e.to_string())?.0)
    };
    let replay = wal.replay(opts).map_err(|e| e.to_string())?;
    let mut out = common::stdout();
    for e in replay.receiver().iter() {
        let line = writeln!(
            out,
            "{{\"lsn\":{},\"data_hex\":\"{}\"}}",
            e.lsn,
            common::hex(&e.data)
        );
        if !common::out_ok(line)? {
            // The reader went away (`| head`): stop. With --consume nothing is
            // deleted, and that is an error.
            drop(replay);
            if a.consume {
                return Err(
                    "stdout was closed before the replay ended; nothing was deleted".into(),
                );
            }
            return Ok(());
        }
    }
    // Everything must be out before segments are deleted.
    if let Err(e) = out.flush() {
        drop(replay);
        return Err(format!("writing to stdout: {e}"));
    }
    let summary = replay.finish().map_err(|e| e.to_string())?;
    if !summary.consumed.is_empty() {
        eprintln!("deleted segments {:?}", summary.consumed);
    }
    wal.close().map_err(|e| e.to_string())?;
    Ok(())
}
