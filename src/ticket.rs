//! Acknowledgements. An append is acknowledged by watermark: its
//! [`CommitTicket`] is its LSN and a handle on the [`Watermark`], which the
//! writer raises once per commit and which wakes only the waiters that commit
//! covers. No allocation and no lock per append. Requests that are not appends
//! (flush, checkpoint, rotate, close) are rare and answer through an [`Ack`].

use crate::Lsn;
use crate::error::{Error, Result};
use crate::sync::{Arc, yield_now};
use crate::sync::{AtomicBool, AtomicU64, AtomicUsize, Condvar, Mutex, Ordering};
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

/// Spins (yielding) until `ready()` or about one fdatasync has passed.
#[cfg(not(loom))]
fn spin_on(ready: impl Fn() -> bool) {
    let start = std::time::Instant::now();
    while !ready() && start.elapsed() < SPIN_FOR {
        // Yield rather than burn: runnable producers and the writer keep their core.
        yield_now();
    }
}

/// loom models no time: one yield stands for the spin's time limit, which
/// keeps both outcomes (answered while spinning, or not, then parked).
#[cfg(loom)]
fn spin_on(ready: impl Fn() -> bool) {
    if !ready() {
        yield_now();
    }
}

/// Spins as [`spin_on`] if fewer than [`MAX_SPINNERS`] producers already do.
fn spin_if_alone(ready: impl Fn() -> bool) {
    if SPINNERS.fetch_add(1, Ordering::AcqRel) < MAX_SPINNERS {
        spin_on(ready);
    }
    SPINNERS.fetch_sub(1, Ordering::AcqRel);
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
            spin_if_alone(|| self.ready.load(Ordering::Acquire));
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

/// Waiters of LSN `l` wait in slot `l % WAKE_SLOTS`, so a commit of `k` LSNs
/// looks at `min(k, WAKE_SLOTS)` slots and wakes only the waiters they hold
/// (MySQL 8's per-LSN-block events). loom's model uses two, so that two
/// waiters can share a slot.
#[cfg(not(loom))]
pub const WAKE_SLOTS: usize = 256;
#[cfg(loom)]
pub const WAKE_SLOTS: usize = 2;

/// One wake slot: threads park on `parked`; async waiters leave their waker.
/// A waiter reads the watermark under the slot's lock before it parks, and
/// the writer takes that lock to wake the slot after raising the watermark,
/// so a wake-up is never lost (no lock-free shortcut: the writer's lock of an
/// idle slot is uncontended, about 20 ns, and loom checks this protocol).
#[derive(Default)]
struct WakeSlot {
    waiters: Mutex<SlotWaiters>,
    parked: Condvar,
}

#[derive(Default)]
struct SlotWaiters {
    /// Threads parked here: the writer notifies only a slot that has some.
    threads: usize,
    /// `(lsn, waker)` of the async waiters in this slot. Its capacity is kept,
    /// so registering allocates nothing in steady state.
    wakers: Vec<(Lsn, Waker)>,
}

/// The LSN through which appends are acknowledged, and the waiters below it.
///
/// Raised by the writer only, after a batch's write (and, for the durable
/// policies, its sync) completed. Once ended (closed, fenced, the writer dead)
/// it never rises again and every waiter above it gets the end's error.
pub struct Watermark {
    acked: AtomicU64,
    ended: AtomicBool,
    end_error: Mutex<Option<Error>>,
    slots: Box<[WakeSlot]>,
}

impl Watermark {
    /// A watermark at `acked` (what recovery found: all of it durable).
    pub fn new(acked: Lsn) -> Self {
        Watermark {
            acked: AtomicU64::new(acked),
            ended: AtomicBool::new(false),
            end_error: Mutex::new(None),
            slots: (0..WAKE_SLOTS).map(|_| WakeSlot::default()).collect(),
        }
    }

    /// The highest acknowledged LSN.
    pub fn acked(&self) -> Lsn {
        self.acked.load(Ordering::SeqCst)
    }

    /// Raises the watermark to `lsn` (never lowers it). Spinning waiters see
    /// it at once; parked ones when [`Watermark::wake`] runs.
    pub fn raise(&self, lsn: Lsn) {
        debug_assert!(!self.ended.load(Ordering::SeqCst) || lsn <= self.acked());
        self.acked.fetch_max(lsn, Ordering::SeqCst);
    }

    /// Wakes the waiters of LSNs `(from, to]`, which [`Watermark::raise`]
    /// covered. `woken` is the caller's scratch list (kept, so no allocation).
    pub fn wake(&self, from: Lsn, to: Lsn, woken: &mut Vec<Waker>) {
        debug_assert!(to <= self.acked());
        let count = to.saturating_sub(from).min(WAKE_SLOTS as u64);
        for i in 0..count {
            let slot = &self.slots[((from + 1 + i) % WAKE_SLOTS as u64) as usize];
            Self::wake_slot(slot, to, woken);
        }
        for w in woken.drain(..) {
            w.wake();
        }
    }

    /// Wakes the threads of `slot` and takes its wakers of LSNs up to `to`.
    fn wake_slot(slot: &WakeSlot, to: Lsn, woken: &mut Vec<Waker>) {
        let mut waiters = slot.waiters.lock();
        if waiters.threads > 0 {
            slot.parked.notify_all();
        }
        let wakers = &mut waiters.wakers;
        let mut i = 0;
        while i < wakers.len() {
            if wakers[i].0 <= to {
                woken.push(wakers.swap_remove(i).1);
            } else {
                i += 1;
            }
        }
    }

    /// Ends the watermark: nothing above it will be acknowledged. The first
    /// error is kept and answers every waiter above the watermark.
    pub fn end(&self, e: Error) {
        {
            let mut end = self.end_error.lock();
            if end.is_none() {
                *end = Some(e);
            }
        }
        self.ended.store(true, Ordering::SeqCst);
        let mut woken = Vec::new();
        for slot in self.slots.iter() {
            Self::wake_slot(slot, Lsn::MAX, &mut woken);
        }
        for w in woken {
            w.wake();
        }
    }

    /// The answer for `lsn` if there is one yet. The end is read before the
    /// watermark: an LSN acknowledged before the end is still answered Ok.
    fn outcome(&self, lsn: Lsn) -> Option<Result<Lsn>> {
        let ended = self.ended.load(Ordering::SeqCst);
        if self.acked.load(Ordering::SeqCst) >= lsn {
            return Some(Ok(lsn));
        }
        if ended {
            let e = self.end_error.lock().clone();
            return Some(Err(e.unwrap_or(Error::Closed)));
        }
        None
    }

    /// Blocks until `lsn` is acknowledged or the watermark ends.
    pub fn wait(&self, lsn: Lsn) -> Result<Lsn> {
        if let Some(r) = self.outcome(lsn) {
            return r;
        }
        // Waking a parked thread costs tens of microseconds on a VM; a short
        // spin by one producer avoids it when the writer answers quickly.
        spin_if_alone(|| self.acked.load(Ordering::Acquire) >= lsn);
        let slot = &self.slots[(lsn % WAKE_SLOTS as u64) as usize];
        let mut waiters = slot.waiters.lock();
        waiters.threads += 1;
        let r = loop {
            if let Some(r) = self.outcome(lsn) {
                break r;
            }
            slot.parked.wait(&mut waiters);
        };
        waiters.threads -= 1;
        r
    }

    /// The future's side of [`Watermark::wait`]: leaves (or refreshes) the
    /// task's waker in the slot, then looks again under the slot's lock.
    fn poll(&self, lsn: Lsn, cx: &mut Context<'_>) -> Poll<Result<Lsn>> {
        if let Some(r) = self.outcome(lsn) {
            return Poll::Ready(r);
        }
        let slot = &self.slots[(lsn % WAKE_SLOTS as u64) as usize];
        let mut waiters = slot.waiters.lock();
        let wakers = &mut waiters.wakers;
        match wakers.iter_mut().find(|(l, _)| *l == lsn) {
            Some((_, w)) if w.will_wake(cx.waker()) => {}
            Some((_, w)) => *w = cx.waker().clone(),
            None => wakers.push((lsn, cx.waker().clone())),
        }
        match self.outcome(lsn) {
            Some(r) => {
                if let Some(i) = wakers.iter().position(|(l, _)| *l == lsn) {
                    wakers.swap_remove(i);
                }
                Poll::Ready(r)
            }
            None => Poll::Pending,
        }
    }
}

/// A pending append, from [`crate::Wal::submit`]: its LSN, resolved once the
/// entry is durable (per the sync policy), or the error that prevented it.
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
/// let ticket = wal.submit(b"first")?;
/// assert_eq!(ticket.lsn(), 1);
/// assert_eq!(ticket.wait()?, 1);
///
/// // Async, here on a current-thread tokio runtime:
/// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// let lsn = rt.block_on(async { wal.submit(b"second")?.await })?;
/// assert_eq!(lsn, 2);
/// # Ok(()) }
/// ```
#[must_use = "a ticket says nothing until waited on"]
pub struct CommitTicket {
    lsn: Lsn,
    commits: Arc<Watermark>,
}

impl CommitTicket {
    pub(crate) fn new(lsn: Lsn, commits: Arc<Watermark>) -> Self {
        CommitTicket { lsn, commits }
    }

    /// The entry's LSN, known at submission (the entry is not durable yet).
    pub fn lsn(&self) -> Lsn {
        self.lsn
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
    /// let ticket = wal.submit(b"entry")?;
    /// let lsn = ticket.wait()?;
    /// assert_eq!(lsn, 1);
    /// assert!(wal.durable_index() >= lsn);
    /// # Ok(()) }
    /// ```
    pub fn wait(self) -> Result<Lsn> {
        self.commits.wait(self.lsn)
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
    /// let ticket = wal.submit(b"entry")?;
    /// // Poll without blocking; the writer answers shortly.
    /// while !ticket.is_done() {
    ///     std::thread::sleep(std::time::Duration::from_millis(1));
    /// }
    /// assert_eq!(ticket.wait()?, 1);
    /// # Ok(()) }
    /// ```
    pub fn is_done(&self) -> bool {
        self.commits.outcome(self.lsn).is_some()
    }
}

impl Future for CommitTicket {
    type Output = Result<Lsn>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.commits.poll(self.lsn, cx)
    }
}

impl std::fmt::Debug for CommitTicket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommitTicket")
            .field("lsn", &self.lsn)
            .field("done", &self.is_done())
            .finish()
    }
}
