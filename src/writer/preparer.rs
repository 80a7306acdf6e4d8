//! The preparer thread: creates the next segment ahead of need (zero-filled
//! unless the writer outruns it) and shrinks sealed segments, off the commit path.

use crate::dir;
use crate::error::{Error, Result};
use crate::shared::Shared;
use crossbeam_channel::{Receiver, Sender};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Work for the preparer thread, done in order.
enum PrepJob {
    /// Create segment `n` (zero-filled if the flag says so).
    Prepare(u64, bool),
    /// Shrink a sealed segment to its data ([`dir::shrink_segment`]).
    Shrink(PathBuf, u64),
}

/// How long a zero-fill that is ahead of need waits before it looks again.
const ZERO_FILL_IDLE: std::time::Duration = std::time::Duration::from_millis(5);

/// Paces the zero-fill of the next segment to the filling of the active
/// one: zeroed ahead by a sixteenth, and done when the active segment is
/// four fifths full. So a slowly filled segment is zeroed slowly, its
/// extent conversions (journal work that every commit's sync then carries)
/// spread thin beside the commits, and a fast one at full speed, or cut
/// short once the writer waits for it. Measured (one writer, 2 s right after
/// open, this VM): zeroing the next segment at full speed took the run from
/// 0.87-0.95x of the raw `pwrite`+`fdatasync` loop (zero-fill off) down to
/// 0.38-0.86x, its p99.9 to 10 ms; paced at a fixed 64 MB/s, 0.60-0.65x.
fn pace(shared: &Shared, hurry: &AtomicBool, zeroed: u64, capacity: u64) -> dir::Fill {
    if hurry.load(Ordering::Acquire) {
        return dir::Fill::Stop;
    }
    // In 1/65536 of the capacity.
    let active = shared.active_fill.load(Ordering::Relaxed);
    let want = ((active + 4096) * 5 / 4).min(65536);
    let done = (zeroed as u128 * 65536 / capacity.max(1) as u128) as u64;
    match done < want {
        true => dir::Fill::Now,
        false => dir::Fill::After(ZERO_FILL_IDLE),
    }
}

/// Prepares the next segment ahead of need, and shrinks sealed ones, on its own thread.
pub(super) struct Preparer {
    tx: Option<Sender<PrepJob>>,
    rx: Receiver<(u64, Result<PathBuf>)>,
    pending: Option<u64>,
    ready: Option<u64>,
    /// Set when the writer waits for the pending segment: its zero-fill stops
    /// there. A writer that outruns the zero-fill (large entries at disk
    /// bandwidth) would otherwise wait for it, and the disk would write every
    /// byte twice; small appends never catch up and keep zero-filled segments.
    hurry: Arc<std::sync::atomic::AtomicBool>,
    /// The writer had to hurry the last preparation: the next one skips the
    /// zero-fill altogether (it would only compete with the writer for the
    /// disk). Cleared when a preparation is ready in time.
    outrun: bool,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Preparer {
    pub(super) fn spawn(shared: &Arc<Shared>, ready: Option<u64>) -> Result<Preparer> {
        // Unbounded: at most one preparation is outstanding (`pending`), and
        // shrink jobs are one per sealed segment; the writer never blocks here.
        let (tx, req_rx) = crossbeam_channel::unbounded::<PrepJob>();
        let (done_tx, rx) = crossbeam_channel::bounded(1);
        let dir = shared.dir.clone();
        let cap = shared.config.segment_size;
        let zero = shared.config.zero_fill;
        let hurry = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop = hurry.clone();
        let paced = shared.clone();
        let handle = std::thread::Builder::new()
            .name("xwal-prepare".into())
            .spawn(move || {
                for job in req_rx {
                    match job {
                        PrepJob::Prepare(n, zero_now) => {
                            let pace = |zeroed: u64| pace(&paced, &stop, zeroed, cap);
                            let r = dir::prepare_segment_with(
                                &dir,
                                n,
                                cap,
                                zero && zero_now,
                                Some(&pace),
                            );
                            if done_tx.send((n, r)).is_err() {
                                break;
                            }
                        }
                        PrepJob::Shrink(path, len) => {
                            // A shrink that fails only leaves the space in use.
                            if let Err(e) = dir::shrink_segment(&path, len) {
                                tracing::warn!(error = %e, "could not shrink a sealed segment");
                            }
                        }
                    }
                }
            })
            .map_err(|e| Error::io("spawning the segment preparer thread", e))?;
        Ok(Preparer {
            tx: Some(tx),
            rx,
            pending: None,
            ready,
            hurry,
            outrun: false,
            handle: Some(handle),
        })
    }

    pub(super) fn request(&mut self, n: u64) {
        if self.pending.is_none()
            && self.ready != Some(n)
            && let Some(tx) = &self.tx
        {
            // Reset before the request is visible, so a hurry is never lost.
            self.hurry.store(false, Ordering::Release);
            if tx.send(PrepJob::Prepare(n, !self.outrun)).is_ok() {
                self.pending = Some(n);
            }
        }
    }

    /// The path of prepared segment `n`, preparing it now if it is not ready.
    pub(super) fn take(&mut self, shared: &Shared, n: u64) -> Result<PathBuf> {
        if self.ready == Some(n) {
            self.ready = None;
            return Ok(dir::segment_path(&shared.dir, n, false));
        }
        if let Some(p) = self.pending.take() {
            let done = match self.rx.try_recv() {
                Ok(d) => {
                    self.outrun = false;
                    Ok(d)
                }
                Err(_) => {
                    self.hurry.store(true, Ordering::Release);
                    self.outrun = true;
                    self.rx.recv()
                }
            };
            match done {
                Ok((m, Ok(path))) if m == n => return Ok(path),
                Ok((m, Ok(path))) => {
                    tracing::warn!(
                        prepared = m,
                        wanted = n,
                        "discarding a segment prepared for another number"
                    );
                    dir::remove_file(&path)?;
                }
                Ok((_, Err(e))) => {
                    tracing::warn!(segment = p, error = %e, "background preparation failed; retrying inline")
                }
                Err(_) => {}
            }
        }
        dir::prepare_segment(
            &shared.dir,
            n,
            shared.config.segment_size,
            shared.config.zero_fill,
        )
    }

    /// Queues the shrink of a sealed segment, off the commit path.
    pub(super) fn shrink(&self, path: PathBuf, len: u64) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(PrepJob::Shrink(path, len));
        }
    }
}

impl Drop for Preparer {
    fn drop(&mut self) {
        // A paced zero-fill waits for the active segment to fill, which it
        // will not do any more: it stops where it is.
        self.hurry.store(true, Ordering::Release);
        self.tx.take();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
