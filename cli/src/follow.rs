//! `--follow` of `xwal dump` and `xwal replay`: like `tail -f`, prints the
//! entries from `--from-lsn` on, then each new one once the log proves it
//! durable, until SIGINT or SIGTERM (exit 0, output flushed) or a closed
//! pipe. Follows through `Wal::open_read_only` + `Wal::tail`: no lock, so the
//! writer runs beside it.

use super::common::{self, CliResult};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use xwal::{Config, Wal};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

/// Makes SIGINT and SIGTERM set [`STOP`] instead of killing the process.
fn catch_stop_signals() -> CliResult {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: a zeroed sigaction is valid; the handler only stores to an
        // atomic, which is async-signal-safe; no SA_RESTART, so a blocking
        // wait returns early and the loop sees the flag.
        let r = unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut())
        };
        if r != 0 {
            return Err(format!(
                "installing a signal handler: {}",
                std::io::Error::last_os_error()
            ));
        }
    }
    Ok(())
}

/// Prints entries from `from_lsn` on with `emit`, following new ones.
pub fn follow(
    cfg: Config,
    from_lsn: u64,
    mut emit: impl FnMut(&mut dyn Write, u64, &[u8]) -> std::io::Result<()>,
) -> CliResult {
    catch_stop_signals()?;
    let (wal, _) = Wal::open_read_only(cfg).map_err(|e| e.to_string())?;
    let mut tail = wal.tail(xwal::Lsn(from_lsn)).map_err(|e| e.to_string())?;
    let mut out = common::stdout();
    while !STOP.load(Ordering::Relaxed) {
        let batch = match tail.next_batch_timeout(Duration::from_millis(100)) {
            Ok(Some(b)) => b,
            Ok(None) => continue,
            Err(e) => {
                common::finish_output(&mut out)?;
                return Err(e.to_string());
            }
        };
        for (lsn, data) in batch.iter() {
            if !common::out_ok(emit(&mut out, lsn.0, data))? {
                return Ok(()); // the reader went away (`| head`)
            }
        }
        // Each batch is shown as it arrives, not when the buffer fills.
        if !common::out_ok(out.flush())? {
            return Ok(());
        }
    }
    common::finish_output(out)
}
