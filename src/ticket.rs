//! Acknowledgements: the writer completes an [`Ack`], the producer waits on a [`CommitTicket`].

use crate::Lsn;
use crate::error::{Error, Result};
use crate::sync::{Arc, yield_now};
use crate::sync::{AtomicBool, AtomicUsize, Condvar, Mutex, Ordering};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// At most this many producers spin on their ack at once; the rest park. One
/// spinner catches the common low-concurrency case without starving the
/// writer thread of a core (this machine class has two).
const MAX_SPINNERS: usize = 1;
/// How long a producer spins before parking: about one fdatasync.
#[cfg(not(loom))]
const SPIN_FOR: std::time::Duration = std::time::Duration::from_micros(250);
#[cfg(not(loom))]
static SPINNERS: AtomicUsize = AtomicUsize::new(0);
// loom's atomics are not const-constructible, and a model's statics must be
// fresh in every execution: loom's lazy_static is both.
#[cfg(loom)]
loom::lazy_static! {
    static ref SPINNERS: AtomicUsize = AtomicUsize::new(0);
}

/// Spins (yielding) until `ready` is set or about one fdatasync has passed.
#[cfg(not(loom))]
fn spin_on(ready: &AtomicBool) {
    let start = std::time::Instant::now();
    while !ready.load(Ordering::Acquire) && start.elapsed() < SPIN_FOR {
        // Yield rather than burn: runnable producers and the writer keep their core.
        yield_now();
    }
}

/// loom models no time: one yield stands for the spin's time limit, which
/// keeps both outcomes (answered while spinning, or not, then parked).
#[cfg(loom)]
fn spin_on(ready: &AtomicBool) {
    if !ready.load(Ordering::Acquire) {
        yield_now();
    }
}

/// First and last value of an acknowledged request (LSNs, or a segment number).
pub type AckValue = (u64, u64);

#[derive(Default)]
struct SlotState {
    result: Option<Result<AckValue>>,
    waker: Option<Waker>,
}

#[derive(Default)]
pub(crate) struct AckSlot {
    state: Mutex<SlotState>,
    done: Condvar,
    ready: AtomicBool,
}

impl AckSlot {
    fn set(&self, r: Result<AckValue>) {
        let waker = {
            let mut s = self.state.lock();
            debug_assert!(s.result.is_none(), "an ack is completed once");
            s.result = Some(r);
            self.ready.store(true, Ordering::Release);
            s.waker.take()
        };
        self.done.notify_all();
        if let Some(w) = waker {
            w.wake();
        }
    }

    fn wait(&self) -> Result<AckValue> {
        // Waking a parked thread costs tens of microseconds on a VM; a short
        // spin by one producer avoids it when the writer answers quickly.
        // An answered ticket (the usual case for the oldest of a pipelined
        // window) skips the spin bookkeeping and its clock reads.
        if !self.ready.load(Ordering::Acquire) {
            if SPINNERS.fetch_add(1, Ordering::AcqRel) < MAX_SPINNERS {
                spin_on(&self.ready);
            }
            SPINNERS.fetch_sub(1, Ordering::AcqRel);
        }
        let mut s = self.state.lock();
        loop {
            if let Some(r) = s.result.take() {
                return r;
            }
            self.done.wait(&mut s);
        }
    }
}

/// The writer's half. Dropping it unanswered answers [`Error::Closed`], so no
/// producer waits forever on a request that the writer never saw.
pub struct Ack(Option<Arc<AckSlot>>);

impl Ack {
    pub(crate) fn new() -> (Ack, Arc<AckSlot>) {
        let slot = Arc::new(AckSlot::default());
        (Ack(Some(slot.clone())), slot)
    }

    /// Answers the producer: wakes a thread in [`CommitTicket::wait`] or the
    /// task awaiting the ticket.
    pub fn complete(mut self, r: Result<AckValue>) {
        if let Some(s) = self.0.take() {
            s.set(r);
        }
    }
}

impl Drop for Ack {
    fn drop(&mut self) {
        if let Some(s) = self.0.take() {
            s.set(Err(Error::Closed));
        }
    }
}

/// Blocks until the writer answers.
pub(crate) fn wait(slot: &AckSlot) -> Result<AckValue> {
    slot.wait()
}

/// The acks of one finished batch (each with its first and last value), with
/// the batch's outcome.
pub type Finished = (Vec<(Ack, u64, u64)>, Result<()>);

/// Completes the acks of finished batches, oldest first: each with its values
/// if its batch succeeded, else with the batch's error.
pub fn deliver(done: impl IntoIterator<Item = Finished>) {
    for (acks, r) in done {
        match r {
            Ok(()) => {
                for (ack, a, b) in acks {
                    ack.complete(Ok((a, b)));
                }
            }
            Err(e) => {
                for (ack, _, _) in acks {
                    ack.complete(Err(e.clone()));
                }
            }
        }
    }
}

/// A pending append, from [`crate::Wal::submit`]. Resolves to the entry's LSN
/// once it is durable (per the sync policy), or to the error that prevented it.
///
/// `wait()` parks the thread; `.await` does not, and needs no particular runtime.
///
/// # Examples
///
/// ```
/// # fn main() -> xwal::Result<()> {
/// use xwal::{Config, Wal};
///
/// let dir = tempfile::tempdir_in(".").unwrap();
/// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
/// let (wal, _) = Wal::open(config)?;
///
/// // Blocking:
/// let ticket = wal.submit(b"first".to_vec())?;
/// assert_eq!(ticket.wait()?, 1);
///
/// // Async, here on a current-thread tokio runtime:
/// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// let lsn = rt.block_on(async { wal.submit(b"second".to_vec())?.await })?;
/// assert_eq!(lsn, 2);
/// # Ok(()) }
/// ```
#[must_use = "a ticket says nothing until waited on"]
pub struct CommitTicket {
    slot: Arc<AckSlot>,
}

impl CommitTicket {
    pub(crate) fn new(slot: Arc<AckSlot>) -> Self {
        CommitTicket { slot }
    }

    /// Blocks until the entry is durable and returns its LSN.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, _) = Wal::open(config)?;
    /// let ticket = wal.submit(b"entry".to_vec())?;
    /// let lsn = ticket.wait()?;
    /// assert_eq!(lsn, 1);
    /// assert!(wal.durable_index() >= lsn);
    /// # Ok(()) }
    /// ```
    pub fn wait(self) -> Result<Lsn> {
        self.slot.wait().map(|(_, last)| last)
    }

    /// True once the writer has answered (success or error).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> xwal::Result<()> {
    /// use xwal::{Config, Wal};
    ///
    /// let dir = tempfile::tempdir_in(".").unwrap();
    /// let config = Config::new(dir.path()).segment_size(1 << 20).max_entry_size(64 << 10);
    /// let (wal, _) = Wal::open(config)?;
    /// let ticket = wal.submit(b"entry".to_vec())?;
    /// // Poll without blocking; the writer answers shortly.
    /// while !ticket.is_done() {
    ///     std::thread::sleep(std::time::Duration::from_millis(1));
    /// }
    /// assert_eq!(ticket.wait()?, 1);
    /// # Ok(()) }
    /// ```
    pub fn is_done(&self) -> bool {
        self.slot.state.lock().result.is_some()
    }
}

impl Future for CommitTicket {
    type Output = Result<Lsn>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut s = self.slot.state.lock();
        match s.result.take() {
            Some(r) => Poll::Ready(r.map(|(_, last)| last)),
            None => {
                match &s.waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => s.waker = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
        }
    }
}

impl std::fmt::Debug for CommitTicket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommitTicket")
            .field("done", &self.is_done())
            .finish()
    }
}
