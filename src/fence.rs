//! The answers no write stands behind: the fence (after a failed write or
//! sync nothing is acknowledged again) and the close hand-off (when the writer
//! stops, every request still queued is answered).
//!
//! The writer, the handle and `loom/tests/loom_commit.rs` run this same code; it
//! takes the queue as an iterator of what it holds, so loom can drive it
//! without the crossbeam channel, which it cannot model.

use crate::error::{Error, Result};
use crate::sync::{self, AtomicBool, Mutex, Ordering};
use crate::ticket::Ack;

/// Set once a write or sync failed (or the writer thread died): from then on
/// the WAL acknowledges nothing and every call gets the first cause.
#[derive(Default)]
pub struct Fence {
    fenced: AtomicBool,
    cause: Mutex<Option<Error>>,
}

impl Fence {
    /// Marks the WAL failed. The first cause is kept.
    pub fn set(&self, err: Error) {
        let mut cause = self.cause.lock();
        if cause.is_none() {
            tracing::error!(error = %err, "WAL fenced: no further appends will be acknowledged");
            *cause = Some(err);
        }
        self.fenced.store(true, Ordering::Release);
    }

    /// The fence error, if fenced.
    pub fn error(&self) -> Option<Error> {
        if !self.fenced.load(Ordering::Acquire) {
            return None;
        }
        self.cause.lock().clone()
    }

    /// The outcome of a finished write (`op` names it, with its linked sync
    /// if any). A failure fences the WAL. Once fenced, a later success proves
    /// nothing either (an fdatasync error is reported once, and a later sync
    /// may pass over lost pages): both answer the fence error.
    pub fn settle(&self, r: std::io::Result<()>, op: &'static str) -> Result<()> {
        let failed = r.is_err();
        if let Err(e) = r {
            self.set(Error::Fenced {
                op,
                cause: e.to_string(),
            });
        }
        let fenced = self.error();
        debug_assert!(!failed || fenced.is_some(), "a failed {op} always fences");
        fenced.map_or(Ok(()), Err)
    }
}

/// Something queued that can be answered without the writer.
pub trait Answer {
    /// Answers it with `e`.
    fn fail(self, e: Error);
}

impl Answer for Ack {
    fn fail(self, e: Error) {
        self.complete(Err(e));
    }
}

/// Answers every request `queued` yields: with the fence error if fenced,
/// else [`Error::Closed`].
pub fn drain<R: Answer>(fence: &Fence, queued: impl IntoIterator<Item = R>) {
    for r in queued {
        r.fail(fence.error().unwrap_or(Error::Closed));
    }
}

/// The writer's last act, however it ends: sets `closed`, then answers what
/// is still queued. A request queued after this drain is never seen by it;
/// its sender sees `closed` in [`drain_if_closed`] and answers it there (both
/// sides SeqCst: at least one of the two drains sees the request).
pub fn close_and_drain<R: Answer>(
    closed: &AtomicBool,
    fence: &Fence,
    queued: impl IntoIterator<Item = R>,
) {
    closed.store(true, Ordering::SeqCst);
    sync::fence(Ordering::SeqCst);
    drain(fence, queued);
}

/// A sender's side of [`close_and_drain`], after its request is queued: if
/// the writer has closed, it answers what is left, its own request included.
pub fn drain_if_closed<R: Answer>(
    closed: &AtomicBool,
    fence: &Fence,
    queued: impl IntoIterator<Item = R>,
) {
    sync::fence(Ordering::SeqCst);
    if closed.load(Ordering::SeqCst) {
        drain(fence, queued);
    }
}
